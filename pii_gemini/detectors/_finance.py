"""Detectors of financial identifiers: IBAN, payment card, Bitcoin and Ethereum addresses.

Each candidate must pass its checksum (mod-97, Luhn, Base58Check/Bech32, EIP-55; see
``pii_gemini._checksums``).
"""

from __future__ import annotations

import re

from .._checksums import (
    IBAN_LENGTHS,
    base58check_valid,
    bech32_address_valid,
    eip55_valid,
    iban_valid,
    luhn_valid,
)
from ._base import RegexDetector, register_detector

__all__ = ["BitcoinDetector", "CreditCardDetector", "EthereumDetector", "IbanDetector"]


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

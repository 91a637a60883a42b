"""Detectors of addresses: e-mail, URL, IPv4, IPv6 and MAC."""

from __future__ import annotations

import ipaddress
import re

from ._base import RegexDetector, register_detector

__all__ = ["EmailDetector", "IPv4Detector", "IPv6Detector", "MacDetector", "UrlDetector"]


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

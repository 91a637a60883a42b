"""Scrub API keys and tokens from text before it reaches a message, a log or a repr.

Backends register the secrets they hold (``register_secret``) and pass every server or SDK
message through ``redact`` before putting it into an exception. Besides the registered
values, anything shaped like a Google API key (``AIza...``), a ``key=`` query parameter,
an ``x-goog-api-key`` header or a ``Bearer`` token is masked too, so a key that was never
registered (read by the SDK from the environment, say) is still caught.
"""

from __future__ import annotations

import os
import re
import threading

__all__ = ["REDACTED", "mask_secret", "redact", "register_secret", "registered_secret_count"]

REDACTED = "[REDACTED]"

_MIN_SECRET_LEN = 6  # shorter values would mask ordinary words
_ENV_SECRETS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")

_lock = threading.Lock()
_secrets: set[str] = set()

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Google API keys: "AIza" + 35 characters.
    (re.compile(r"AIza[0-9A-Za-z_\-]{35}"), REDACTED),
    # OAuth access tokens ("ya29.") wherever they appear.
    (re.compile(r"ya29\.[0-9A-Za-z_\-.]+"), REDACTED),
    # key=... in URLs (the ?key= transport of the REST API).
    (re.compile(r"(?i)([?&;]key=)[^&#\s'\"]+"), r"\1" + REDACTED),
    # x-goog-api-key: ... as printed header dicts or raw headers.
    (
        re.compile(r"(?i)(x-goog-api-key['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
        r"\1" + REDACTED,
    ),
    # Authorization: Bearer <token>
    (re.compile(r"(?i)(bearer\s+)[^'\"\s,}]+"), r"\1" + REDACTED),
)


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` so that ``redact`` masks it wherever it appears."""
    if secret and len(secret) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(secret)


def registered_secret_count() -> int:
    """How many secrets are registered (for tests)."""
    with _lock:
        return len(_secrets)


def _known_secrets() -> list[str]:
    with _lock:
        known = set(_secrets)
    for var in _ENV_SECRETS:
        value = os.environ.get(var)
        if value and len(value) >= _MIN_SECRET_LEN:
            known.add(value)
    # Longest first, so a secret containing another is masked whole.
    return sorted(known, key=len, reverse=True)


def redact(text: object) -> str:
    """Return ``str(text)`` with every known secret and key-shaped value masked."""
    out = str(text)
    for secret in _known_secrets():
        if secret in out:
            out = out.replace(secret, REDACTED)
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)
    return out


def mask_secret(secret: str | None) -> str:
    """A repr-safe stand-in for a secret: ``None``, or ``'***'`` plus its length."""
    if not secret:
        return "None"
    return f"'***' ({len(secret)} chars)"

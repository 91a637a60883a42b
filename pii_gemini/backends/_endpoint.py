"""Checks on the ``endpoint=`` option both SDK backends accept (the emulator, a proxy).

Lives beside the backends so they need nothing from ``pii_gemini._credentials``, which
builds them: the arrows go factory -> backends -> here, never back.
"""

from __future__ import annotations

from .._exceptions import ConfigError

__all__ = ["check_endpoint"]


def check_endpoint(endpoint: str | None) -> str | None:
    """Reject an endpoint without a scheme: the SDKs would silently use HTTPS on it."""
    if endpoint and "://" not in endpoint:
        raise ConfigError(
            f"endpoint {endpoint!r} needs a scheme, e.g. 'http://{endpoint}' for the emulator "
            "or 'https://...' for a proxy"
        )
    return endpoint

"""Backends: where tuning and generation actually happen.

``FakeBackend`` runs in memory; ``GeminiBackend`` (google-generativeai) and ``VertexBackend``
(google-genai) talk to Google and import their SDKs only when constructed.
"""

from __future__ import annotations

from .base import Backend

__all__ = ["Backend"]

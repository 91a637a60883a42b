"""Backends: where tuning and generation actually happen.

``FakeBackend`` runs in memory; ``GeminiBackend`` (google-generativeai) and ``VertexBackend``
(google-genai) talk to Google; ``LocalBackend`` tunes and runs Gemma on this machine (the
``local`` extra). Those three are loaded on first access, so importing ``pii_gemini`` never
imports a Google SDK or PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._service import FakeService, Progression, ServiceError
from .base import Backend
from .fake import FakeBackend

if TYPE_CHECKING:
    from .gemini import GeminiBackend
    from .local import LocalBackend
    from .vertex import VertexBackend

__all__ = [
    "Backend",
    "FakeBackend",
    "FakeService",
    "GeminiBackend",
    "LocalBackend",
    "Progression",
    "ServiceError",
    "VertexBackend",
]

_LAZY = {"GeminiBackend": ".gemini", "LocalBackend": ".local", "VertexBackend": ".vertex"}


def __getattr__(name: str) -> Any:
    """Import the SDK-backed backends only when they are asked for."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
